"""Driving the terraform binary on a package: init, plan, apply, destroy, outputs."""
