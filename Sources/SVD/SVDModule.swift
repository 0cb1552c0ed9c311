// The SVD module: models and pipeline (being written).
