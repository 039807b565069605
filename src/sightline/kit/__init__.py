"""What every domain shares: field types (`types`), pagination (`pagination`), the status
vocabularies (`statuses`) and the error envelope's schemas (`envelope`). The kit imports
nothing from the rest of Sightline, so any module may import it."""
