namespace Parley.Inference.Tokenization;

/// <summary>
/// GPT-2's reversible map between bytes and printable characters: byte-level BPE vocabularies
/// spell every token with these characters (a space is 'Ġ', a newline 'Ċ').
/// </summary>
internal static class ByteLevel
{
    public static readonly char[] ByteToChar = Build();
    public static readonly Dictionary<char, byte> CharToByte = Invert(ByteToChar);

    private static char[] Build()
    {
        var map = new char[256];
        int n = 0;
        for (int b = 0; b < 256; b++)
        {
            bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            map[b] = printable ? (char)b : (char)(256 + n++);
        }

        return map;
    }

    private static Dictionary<char, byte> Invert(char[] map)
    {
        var d = new Dictionary<char, byte>(256);
        for (int b = 0; b < 256; b++) d[map[b]] = (byte)b;
        return d;
    }

    public static string Encode(ReadOnlySpan<byte> bytes)
    {
        var chars = new char[bytes.Length];
        for (int i = 0; i < bytes.Length; i++) chars[i] = ByteToChar[bytes[i]];
        return new string(chars);
    }

    /// <summary>Appends the bytes a token spells; characters outside the map are kept as UTF-8.</summary>
    public static void Decode(string token, List<byte> output)
    {
        Span<byte> utf8 = stackalloc byte[4];
        foreach (var r in token.EnumerateRunes())
        {
            if (r.IsBmp && CharToByte.TryGetValue((char)r.Value, out byte b))
            {
                output.Add(b);
                continue;
            }

            int n = r.EncodeToUtf8(utf8);
            for (int i = 0; i < n; i++) output.Add(utf8[i]);
        }
    }
}
