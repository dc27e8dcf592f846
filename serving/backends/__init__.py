"""Serving backends behind `serving.client.EmotionClient`: REST, gRPC and in-process.

Each module imports its heavy dependencies (grpc, TensorFlow) itself, so a REST-only client
does not load TensorFlow.
"""
