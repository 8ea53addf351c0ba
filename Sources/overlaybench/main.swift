print("overlaybench")
