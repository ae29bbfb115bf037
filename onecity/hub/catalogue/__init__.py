"""The data catalogue (数据目录): every registry and agency dataset described, searchable, exported as DCAT-AP 3."""
