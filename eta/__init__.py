"""Pure ETA, traffic, forecast and staffing computation: no HTTP, no database."""
