// Neural-network layers with checkpoint-keyed weights (being written).
