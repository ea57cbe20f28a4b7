"""The pdec grammar (pdec.lark), shipped in the wheel as the package pdec.grammar."""
