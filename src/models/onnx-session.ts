// Opening ONNX Runtime (CPU) sessions with the thread count from config, in one place.
import * as ort from 'onnxruntime-node';

export { ort };

export async function openSession(modelPath: string, threads: number): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(modelPath, {
    executionProviders: ['cpu'],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  });
}
