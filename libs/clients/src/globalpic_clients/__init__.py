"""The thin gRPC clients of the model services, each implementing the domain interface of
``globalpic_common.interfaces`` its service serves (``TextDetector``, ``Segmenter``,
``Inpainter``, ``EraseMasker``, ``Framer``, ``RuleJudge``, ``Copywriter``...).

A library of their own so that a caller (the orchestrator) installs the protos and these,
never a service package and its models: ``globalpic_ocr`` brings RapidOCR and onnxruntime,
``globalpic_clients.ocr`` only grpcio.
"""
