enum _PlaceholderShellacTestSupport {}
