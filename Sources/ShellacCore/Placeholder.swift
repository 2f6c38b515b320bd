enum _PlaceholderShellacCore {}
