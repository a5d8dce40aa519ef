using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace Osiris.Shared.Knowledge;

/// <summary>Embeddings as stored: L2-normalised float32, little-endian bytes, so a dot product is the cosine similarity.</summary>
public static class Vectors
{
    public static byte[] ToBytes(ReadOnlySpan<float> vector)
    {
        var normalised = new float[vector.Length];
        var norm = TensorPrimitives.Norm(vector);
        if (norm > 0)
        {
            TensorPrimitives.Divide(vector, norm, normalised);
        }
        return MemoryMarshal.AsBytes(normalised.AsSpan()).ToArray();
    }

    public static float[] FromBytes(byte[] bytes) => MemoryMarshal.Cast<byte, float>(bytes).ToArray();

    public static float[] Normalise(ReadOnlySpan<float> vector) => FromBytes(ToBytes(vector));
}
