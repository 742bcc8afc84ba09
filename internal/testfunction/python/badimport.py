import nonexistent_module_for_sluice_tests  # noqa: F401 -- fails on purpose


def handler(event, context):
    return "unreachable"
