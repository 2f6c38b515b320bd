enum _PlaceholderShellacStore {}
