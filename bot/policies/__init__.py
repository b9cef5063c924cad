"""The regulations (服务管理制度 1-15): parsing, storage and search."""
