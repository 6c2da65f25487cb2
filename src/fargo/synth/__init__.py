"""Model -> Terraform: a self-contained root (`*.tf.json`) that calls the shipped HCL module."""
