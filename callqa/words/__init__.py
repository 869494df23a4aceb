"""Words shared by the checks and redaction: a tokenizer that keeps offsets, and number words
read as digits in en, nb, fi, it and sl ("four four one nine" -> "4419")."""
