"""The learned scorer's sentence encoder: all-MiniLM-L6-v2 in numpy, as a transformer or a distilled static table.

encoder = build_encoder("static")            # tiergate.learned.encoder
vectors = encoder.encode(["add type hints to def f(x): return x"])   # (1, 256) float32, unit rows
"""
