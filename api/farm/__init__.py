"""What the API server and its workers share: the farm's settings, its database, the evaluation
queue, the error shape of their HTTP answers, and the perturbation layer as the farm uses it."""
