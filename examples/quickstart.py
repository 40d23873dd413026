import numpy as np

import nnlite as nl
from nnlite.testing import check_gradients

X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)  # XOR
Y = np.array([[0], [1], [1], [0]], dtype=float)

model = nl.two_layer_network(2, 4, rng=0)  # H = X W1, Z = sigma(H), O = [Z, 1] W2, y_hat = sigma(O)
loss = nl.MSELoss()  # L = 1/(2N) sum (Y - y_hat)^2

optimizer = nl.optim.SGD(model.parameters(), lr=2.0)  # plain gradient descent: W -= 2.0 dL/dW

for _ in range(3000):
    value = loss(model(X), Y)
    optimizer.zero_grad()
    model.backward_parameters(loss.backward())  # eq. 7 and 9, one layer at a time; no dL/dX
    optimizer.step()
print(f"loss {value:.4f}, predictions {model(X).ravel().round(2)}")

print(check_gradients(model, X))  # backward against finite differences
