"""What tests and benchmarks both need to run the real thing: servers, browsers, databases."""
