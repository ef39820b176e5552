"""Training, apart from the product: the labelled dataset, augmentation, the optimisation loop, tuning of the
post-processing, the model card, and evaluation on a labelled corpus. Nothing in the detection path imports it."""
