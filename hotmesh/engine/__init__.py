"""The engine: YAML compiler, activities, mapper, @pipe catalog and collator."""
