"""The preserve phase's decisions: what to keep, vault layout and manifest, versioning, path safety."""
