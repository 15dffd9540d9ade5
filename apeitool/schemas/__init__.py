"""construct schemas, one module per spec object. Each names the spec section it follows."""
