"""The HTTP layer: routes, their dependencies and error mapping. Rules live in domain/."""
