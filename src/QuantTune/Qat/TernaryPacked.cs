using QuantTune.Diagnostics;
using static TorchSharp.torch;

namespace QuantTune.Qat;

/// <summary>How <see cref="TernaryPacked"/> lays out trits.</summary>
public enum TernaryPacking
{
    /// <summary>2 bits a weight, 4 a byte: code t + 1 ∈ {0, 1, 2} in bits 2i..2i+1 of the byte.</summary>
    TwoBit,
    /// <summary>
    /// TQ1_0-style 1.6 bits a weight, 5 a byte: the byte is Σ (t_i + 1)·3^i ≤ 242. Smaller than
    /// <see cref="TwoBit"/> by a fifth, decoded by a 243-entry table.
    /// </summary>
    Base3,
    /// <summary>
    /// 2 bits a weight in the layout of <see cref="TernaryKernel"/> (bitnet.cpp's I2_S idea): each
    /// row is padded with zero trits to a multiple of 128 columns and cut into blocks of 128 held
    /// in 32 bytes, byte j of block b holding columns 128b + 32k + j in bits 2k..2k+1 (k = 0..3),
    /// code t + 1. One 32-byte load then decodes, by a shift and a mask, the trits of 32
    /// consecutive columns four times over. Rows start on a byte boundary.
    /// </summary>
    TwoBitInterleaved,
}

/// <summary>
/// A matrix [rows, columns] of trits {−1, 0, 1} packed row-major (the flat index is
/// row·columns + column; a row may start mid-byte, except in <see cref="TernaryPacking.TwoBitInterleaved"/>). The scale is not part of the packing: it
/// is one float per tensor (γ of BitNet b1.58), <see cref="ScaleBytes"/> in <see cref="StorageBytes"/>.
/// </summary>
public sealed class TernaryPacked
{
    /// <summary>Bytes of the per-tensor fp32 scale.</summary>
    public const int ScaleBytes = sizeof(float);

    static readonly sbyte[] Base3Table = BuildBase3Table();

    public TernaryPacking Packing { get; }
    public long Rows { get; }
    public long Columns { get; }
    public byte[] Data { get; }

    public long Length => Rows * Columns;

    /// <summary>Bits of packed codes per weight: 2.0 or 1.6 when the length is a multiple of 4 or 5 (interleaved: the columns of 128).</summary>
    public double BitsPerWeight => Data.Length * 8.0 / Length;

    /// <summary>Packed codes plus the scale.</summary>
    public long StorageBytes => Data.LongLength + ScaleBytes;

    TernaryPacked(TernaryPacking packing, long rows, long columns, byte[] data)
    {
        Packing = packing;
        Rows = rows;
        Columns = columns;
        Data = data;
    }

    public static int WeightsPerByte(TernaryPacking packing) => packing == TernaryPacking.Base3 ? 5 : 4;

    /// <summary>Columns of one <see cref="TernaryPacking.TwoBitInterleaved"/> block.</summary>
    public const int InterleavedBlock = 128;

    /// <summary>Bytes of one row in <see cref="TernaryPacking.TwoBitInterleaved"/>: 32 per started block of 128 columns.</summary>
    public static long InterleavedRowBytes(long columns) => (columns + InterleavedBlock - 1) / InterleavedBlock * (InterleavedBlock / 4);

    /// <summary>Byte and bit shift of 2-bit element i (row-major) in a 2-bit packing.</summary>
    (long Byte, int Shift) TwoBitSlot(long i)
    {
        if (Packing == TernaryPacking.TwoBit) return (i / 4, 2 * (int)(i % 4));
        long row = i / Columns, c = i % Columns;
        return (row * InterleavedRowBytes(Columns) + c / InterleavedBlock * 32 + c % 32, 2 * (int)(c % InterleavedBlock / 32));
    }

    /// <summary>Packs <paramref name="trits"/> (row-major, each −1, 0 or 1).</summary>
    public static TernaryPacked Pack(ReadOnlySpan<sbyte> trits, long rows, long columns, TernaryPacking packing)
    {
        if (rows < 0 || columns < 0 || rows * columns != trits.Length)
            throw new QuantTuneException($"ternary packing: {trits.Length} trits for a [{rows}, {columns}] matrix");
        int per = WeightsPerByte(packing);
        var data = packing == TernaryPacking.TwoBitInterleaved ? new byte[rows * InterleavedRowBytes(columns)] : new byte[(trits.Length + per - 1) / per];
        // Interleaved padding holds zero trits (code 1 in every slot).
        if (packing == TernaryPacking.TwoBitInterleaved) Array.Fill(data, (byte)0b01010101);
        var packed = new TernaryPacked(packing, rows, columns, data);
        for (int i = 0; i < trits.Length; i++)
        {
            int t = trits[i];
            if (t is < -1 or > 1) throw new QuantTuneException($"ternary packing: element {i} is {t}; expected -1, 0 or 1");
            int code = t + 1;
            if (packing == TernaryPacking.Base3)
            {
                data[i / per] += (byte)(code * Pow3(i % per));
                continue;
            }
            var (b, shift) = packed.TwoBitSlot(i);
            data[b] = (byte)((data[b] & ~(3 << shift)) | (code << shift));
        }
        return packed;
    }

    /// <summary>Packs a 2-d tensor of codes {−1, 0, 1} (e.g. <see cref="BitNetWeights.Ternary"/>'s).</summary>
    public static TernaryPacked Pack(Tensor codes, TernaryPacking packing)
    {
        if (codes.dim() != 2) throw new QuantTuneException($"ternary packing: a {codes.dim()}-d tensor; expected a matrix");
        using var scope = NewDisposeScope();
        var trits = codes.detach().cpu().to_type(ScalarType.Int8).contiguous().data<sbyte>().ToArray();
        return Pack(trits, codes.shape[0], codes.shape[1], packing);
    }

    /// <summary>All trits, row-major.</summary>
    public sbyte[] Unpack()
    {
        var trits = new sbyte[Length];
        Decode(0, trits);
        return trits;
    }

    /// <summary>The trits of row-major elements [start, start + destination.Length).</summary>
    public void Decode(long start, Span<sbyte> destination)
    {
        for (int k = 0; k < destination.Length; k++)
        {
            long i = start + k;
            if (Packing == TernaryPacking.Base3)
            {
                destination[k] = Base3Table[Data[i / 5] * 5 + (int)(i % 5)];
                continue;
            }
            var (b, shift) = TwoBitSlot(i);
            destination[k] = (sbyte)(((Data[b] >> shift) & 3) - 1);
        }
    }

    /// <summary>codes·scale as a dense [rows, columns] float32 tensor: the reference the add-only matmul is checked against.</summary>
    public Tensor Dequantize(float scale) =>
        tensor(Unpack().Select(t => t * scale).ToArray(), [Rows, Columns], ScalarType.Float32);

    static int Pow3(int n) => n switch { 0 => 1, 1 => 3, 2 => 9, 3 => 27, _ => 81 };

    /// <summary>Trit (−1, 0, 1) of digit d of byte b at [b·5 + d], for b &lt; 243; bytes above are never written.</summary>
    static sbyte[] BuildBase3Table()
    {
        var table = new sbyte[256 * 5];
        for (int b = 0; b < 243; b++)
            for (int d = 0, v = b; d < 5; d++, v /= 3)
                table[b * 5 + d] = (sbyte)(v % 3 - 1);
        return table;
    }
}
