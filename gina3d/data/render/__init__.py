"""A headless mesh rasteriser (moderngl on EGL): the synthetic world draws its frames with
it, and evaluation its ground-truth silhouettes."""
