"""boto3 operations on deployed jobs. Every AWS error becomes a clear message, not a traceback."""
