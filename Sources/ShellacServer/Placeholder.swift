enum _PlaceholderShellacServer {}
