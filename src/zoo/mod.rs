//! Built-in models written as ONNX by our own code (filled in by the zoo work).
