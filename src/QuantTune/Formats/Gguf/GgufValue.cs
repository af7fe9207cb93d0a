namespace QuantTune.Formats.Gguf;

/// <summary>
/// One typed GGUF metadata value. Scalars hold the matching CLR type (byte, sbyte, ushort, short,
/// uint, int, float, bool, string, ulong, long, double); arrays hold a CLR array of the element type
/// in <see cref="Value"/> and the element tag in <see cref="ElementType"/> (nested arrays are not supported).
/// </summary>
public sealed record GgufValue(GgufValueType Type, object Value, GgufValueType ElementType = GgufValueType.UInt8)
{
    public static GgufValue Of(byte v) => new(GgufValueType.UInt8, v);
    public static GgufValue Of(sbyte v) => new(GgufValueType.Int8, v);
    public static GgufValue Of(ushort v) => new(GgufValueType.UInt16, v);
    public static GgufValue Of(short v) => new(GgufValueType.Int16, v);
    public static GgufValue Of(uint v) => new(GgufValueType.UInt32, v);
    public static GgufValue Of(int v) => new(GgufValueType.Int32, v);
    public static GgufValue Of(float v) => new(GgufValueType.Float32, v);
    public static GgufValue Of(bool v) => new(GgufValueType.Bool, v);
    public static GgufValue Of(string v) => new(GgufValueType.String, v);
    public static GgufValue Of(ulong v) => new(GgufValueType.UInt64, v);
    public static GgufValue Of(long v) => new(GgufValueType.Int64, v);
    public static GgufValue Of(double v) => new(GgufValueType.Float64, v);

    /// <summary>An array value; <paramref name="values"/> must be an array of the CLR type of <paramref name="elementType"/>.</summary>
    public static GgufValue ArrayOf(GgufValueType elementType, Array values)
    {
        if (elementType == GgufValueType.Array)
            throw new ArgumentException("nested GGUF arrays are not supported", nameof(elementType));
        if (values.GetType().GetElementType() != ClrType(elementType))
            throw new ArgumentException($"a {elementType} array needs {ClrType(elementType).Name}[] values, not {values.GetType().Name}", nameof(values));
        return new GgufValue(GgufValueType.Array, values, elementType);
    }

    public static GgufValue Of(string[] v) => ArrayOf(GgufValueType.String, v);
    public static GgufValue Of(int[] v) => ArrayOf(GgufValueType.Int32, v);
    public static GgufValue Of(float[] v) => ArrayOf(GgufValueType.Float32, v);

    /// <summary>The CLR type a scalar of <paramref name="type"/> is held as.</summary>
    public static Type ClrType(GgufValueType type) => type switch
    {
        GgufValueType.UInt8 => typeof(byte),
        GgufValueType.Int8 => typeof(sbyte),
        GgufValueType.UInt16 => typeof(ushort),
        GgufValueType.Int16 => typeof(short),
        GgufValueType.UInt32 => typeof(uint),
        GgufValueType.Int32 => typeof(int),
        GgufValueType.Float32 => typeof(float),
        GgufValueType.Bool => typeof(bool),
        GgufValueType.String => typeof(string),
        GgufValueType.UInt64 => typeof(ulong),
        GgufValueType.Int64 => typeof(long),
        GgufValueType.Float64 => typeof(double),
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "not a scalar GGUF type"),
    };

    /// <summary>An integer scalar of any width as a long (bool as 0/1).</summary>
    public long AsInt64() => Value switch
    {
        byte v => v, sbyte v => v, ushort v => v, short v => v, uint v => v, int v => v,
        ulong v => checked((long)v), long v => v, bool v => v ? 1 : 0,
        _ => throw new InvalidCastException($"GGUF {Type} value is not an integer"),
    };

    /// <summary>A float scalar (or an integer) as a double.</summary>
    public double AsDouble() => Value switch { float v => v, double v => v, _ => AsInt64() };

    /// <summary>The string of a String value.</summary>
    public string AsString() => Value as string ?? throw new InvalidCastException($"GGUF {Type} value is not a string");

    /// <summary>The elements of an Array value.</summary>
    public T[] AsArray<T>() => Value as T[] ?? throw new InvalidCastException($"GGUF {Type} value is not a {typeof(T).Name} array");
}
