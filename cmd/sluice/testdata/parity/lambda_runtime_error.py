raise Exception("Runtime startup fails")
