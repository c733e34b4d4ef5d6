"""The admin console of the dataset viewer: the Django project."""
