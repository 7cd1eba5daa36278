"""Drop-ins for frameworks: each translates a peer library's options into a
corsfast Policy and reuses the generic middleware or the engine."""
