# TensorFlow's environment (legacy Keras, log levels) before any module of this package can
# import TensorFlow, whichever module is imported first: components/core/tf_env.py.
import components.core.tf_env  # noqa: F401
