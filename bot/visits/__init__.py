"""Home visits of the community health centre: home infusion (服务管理制度6)."""
