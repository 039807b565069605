from sightline.cli.main import app

app(prog_name="sightline")
