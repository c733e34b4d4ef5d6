"""The Hugging Face Hub: one HTTP session, and the rules that say whether a dataset can be processed."""
