using System.Runtime.Intrinsics;
using Parley.Inference.Tensors;

namespace Parley.Inference.Tests;

/// <summary>The eight-lane exp and half rounding against the scalar library functions.</summary>
public class VectorMathTests
{
    [Fact]
    public void ExpIsWithinTwoUlpsAndFlushesLikeGgml()
    {
        var r = new Random(11);
        var lanes = new float[8];
        for (int trial = 0; trial < 20000; trial++)
        {
            for (int i = 0; i < 8; i++) lanes[i] = (float)(r.NextDouble() * 200 - 110); // exercises both scale paths
            var e = VectorMath.Exp(Vector256.Create(lanes));
            for (int i = 0; i < 8; i++)
            {
                float expected = MathF.Exp(lanes[i]);
                if (lanes[i] > 88.38f) Assert.True(float.IsPositiveInfinity(e[i]) || Math.Abs(e[i] - expected) <= 2 * Ulp(expected), $"exp({lanes[i]})");
                else if (expected < 1e-37f) Assert.True(e[i] < 1e-37f && e[i] >= 0, $"exp({lanes[i]}) = {e[i]}");
                else Assert.True(Math.Abs(e[i] - expected) <= 2 * Ulp(expected), $"exp({lanes[i]}) = {e[i]}, expected {expected}");
            }
        }

        Assert.Equal(1f, VectorMath.Exp(Vector256<float>.Zero)[0]);
        Assert.Equal(0f, VectorMath.Exp(Vector256.Create(float.NegativeInfinity))[0]);
    }

    [Fact]
    public void RoundToHalfEqualsTheScalarRoundTripForAnyFloat()
    {
        var r = new Random(12);
        var lanes = new float[8];
        for (int trial = 0; trial < 200000; trial++)
        {
            for (int i = 0; i < 8; i++)
            {
                // Random bit patterns cover NaN, infinities and the extremes; scaled values cover the half range densely.
                lanes[i] = i < 4 ? BitConverter.Int32BitsToSingle(r.Next(int.MinValue, int.MaxValue)) : (float)((r.NextDouble() - 0.5) * Math.Pow(2, r.Next(-30, 18)));
            }

            var v = VectorMath.RoundToHalf(Vector256.Create(lanes));
            for (int i = 0; i < 8; i++)
            {
                float expected = Fp16.Round(lanes[i]);
                Assert.True(float.IsNaN(expected) ? float.IsNaN(v[i]) : BitConverter.SingleToInt32Bits(expected) == BitConverter.SingleToInt32Bits(v[i]), $"{lanes[i]:R}: {v[i]:R} vs {expected:R}");
            }
        }
    }

    private static float Ulp(float x) => MathF.BitIncrement(MathF.Abs(x)) - MathF.Abs(x);
}
