"""What Sightline serves to a browser: the package's static files and the API docs pages."""
