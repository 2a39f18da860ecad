"""Command-line entry points: thin click groups over causalgen and causalvae."""
