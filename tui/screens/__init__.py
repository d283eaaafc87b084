"""The app's screens: queue, ticket, channels, help, pickers; admin screens and wizards."""
