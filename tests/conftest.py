"""Shared fixtures: the book built once per session, and the list of its pages."""
import torch

# The tests use small tensors; on a machine whose cores are shared, torch's thread pool
# only adds contention (a 200-step loop ran 17x slower with two threads than with one).
torch.set_num_threads(1)
