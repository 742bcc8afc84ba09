def handler(event, context):
    return {"from": "pkg.nested", "event": event}
