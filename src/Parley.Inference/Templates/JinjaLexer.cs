using System.Globalization;
using System.Text;

namespace Parley.Inference.Templates;

internal enum TokenKind
{
    Text,
    VarBegin,
    VarEnd,
    BlockBegin,
    BlockEnd,
    Name,
    String,
    Integer,
    Float,
    Operator,
    Eof,
}

internal readonly record struct Token(TokenKind Kind, string Value, int Line, object? Literal = null)
{
    public bool Is(TokenKind kind, string value) => Kind == kind && Value == value;

    public bool IsName(string value) => Kind == TokenKind.Name && Value == value;

    public bool IsOp(string value) => Kind == TokenKind.Operator && Value == value;

    public override string ToString() => Kind == TokenKind.Eof ? "end of template" : $"'{Value}'";
}

/// <summary>
/// Splits a template into text and tag tokens with Jinja2's whitespace rules as Hugging Face
/// configures them: trim_blocks (the newline after a block or comment tag goes), lstrip_blocks
/// (spaces and tabs before a block or comment tag on its own line go, unless the tag opens with
/// '+'), and '-' on either side of any tag strips all whitespace on that side. Raw blocks pass through.
/// </summary>
internal sealed class JinjaLexer(string source)
{
    private static readonly string[] Operators =
    [
        "**", "//", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~", "<", ">", "=", "|", ".", ",", ":", "(", ")", "[", "]", "{", "}",
    ];

    private readonly List<Token> _tokens = [];
    private int _pos;
    private int _line = 1;

    public List<Token> Tokenize()
    {
        bool stripNextText = false;
        while (_pos < source.Length)
        {
            int open = FindTagOpen(_pos);
            string text = source[_pos..(open < 0 ? source.Length : open)];
            if (stripNextText) text = text.TrimStart();
            stripNextText = false;
            if (open < 0)
            {
                AddText(text);
                _pos = source.Length;
                break;
            }

            char kind = source[open + 1];
            char modifier = open + 2 < source.Length ? source[open + 2] : '\0';
            if (modifier == '-') text = text.TrimEnd();
            else if (modifier != '+' && kind != '{') text = LstripLastLine(text);
            AddText(text);
            _pos = open + 2 + (modifier is '-' or '+' ? 1 : 0);

            if (kind == '#')
            {
                int end = source.IndexOf("#}", _pos, StringComparison.Ordinal);
                if (end < 0) throw Error("a comment is never closed with '#}'");
                bool strip = source[end - 1] == '-' && end - 1 >= _pos;
                CountLines(_pos, end + 2);
                _pos = end + 2;
                if (strip) stripNextText = true;
                else TrimBlockNewline();
                continue;
            }

            bool isBlock = kind == '%';
            int tagLine = _line;
            if (isBlock && IsRawStart())
            {
                ReadRaw(ref stripNextText);
                continue;
            }

            _tokens.Add(new Token(isBlock ? TokenKind.BlockBegin : TokenKind.VarBegin, isBlock ? "{%" : "{{", tagLine));
            bool stripAfter = LexExpression(isBlock ? '%' : '}');
            _tokens.Add(new Token(isBlock ? TokenKind.BlockEnd : TokenKind.VarEnd, isBlock ? "%}" : "}}", _line));
            if (stripAfter) stripNextText = true;
            else if (isBlock) TrimBlockNewline();
        }

        _tokens.Add(new Token(TokenKind.Eof, "", _line));
        return _tokens;
    }

    private TemplateException Error(string problem) => new($"template syntax error at line {_line}: {problem}");

    private int FindTagOpen(int from)
    {
        for (int i = source.IndexOf('{', from); i >= 0 && i + 1 < source.Length; i = source.IndexOf('{', i + 1))
        {
            char c = source[i + 1];
            if (c is '{' or '%' or '#') return i;
        }

        return -1;
    }

    private void AddText(string text)
    {
        if (text.Length > 0) _tokens.Add(new Token(TokenKind.Text, text, _line));
        foreach (char c in text)
        {
            if (c == '\n') _line++;
        }
    }

    private void CountLines(int from, int to)
    {
        for (int i = from; i < to && i < source.Length; i++)
        {
            if (source[i] == '\n') _line++;
        }
    }

    /// <summary>lstrip_blocks: drop spaces and tabs between the last newline (or the start) and the tag.</summary>
    private string LstripLastLine(string text)
    {
        int i = text.Length;
        while (i > 0 && text[i - 1] is ' ' or '\t') i--;
        bool lineStart = i > 0 ? text[i - 1] == '\n' : _pos == 0 || source[_pos - 1] == '\n';
        return lineStart ? text[..i] : text;
    }

    private void TrimBlockNewline()
    {
        if (_pos < source.Length && source[_pos] == '\n')
        {
            _pos++;
            _line++;
        }
        else if (_pos + 1 < source.Length && source[_pos] == '\r' && source[_pos + 1] == '\n')
        {
            _pos += 2;
            _line++;
        }
    }

    private bool IsRawStart()
    {
        int i = _pos;
        while (i < source.Length && char.IsWhiteSpace(source[i])) i++;
        if (string.CompareOrdinal(source, i, "raw", 0, 3) != 0) return false;
        i += 3;
        while (i < source.Length && char.IsWhiteSpace(source[i])) i++;
        return i < source.Length && (source[i] == '%' || (source[i] == '-' && i + 1 < source.Length && source[i + 1] == '%'));
    }

    private void ReadRaw(ref bool stripNextText)
    {
        int close = source.IndexOf("%}", _pos, StringComparison.Ordinal);
        bool stripInside = source[close - 1] == '-';
        _pos = close + 2;
        if (!stripInside) TrimBlockNewline();
        int search = _pos;
        while (true)
        {
            int open = source.IndexOf("{%", search, StringComparison.Ordinal);
            if (open < 0) throw Error("a raw block is never closed with endraw");
            int i = open + 2;
            bool stripBefore = i < source.Length && source[i] == '-';
            if (i < source.Length && source[i] is '-' or '+') i++;
            while (i < source.Length && char.IsWhiteSpace(source[i])) i++;
            if (string.CompareOrdinal(source, i, "endraw", 0, 6) == 0)
            {
                string body = source[_pos..open];
                if (stripInside) body = body.TrimStart();
                if (stripBefore) body = body.TrimEnd();
                else body = LstripRawTail(body);
                AddText(body);
                int end = source.IndexOf("%}", i, StringComparison.Ordinal);
                if (end < 0) throw Error("endraw is never closed");
                bool stripAfter = source[end - 1] == '-';
                CountLines(open, end + 2);
                _pos = end + 2;
                if (stripAfter) stripNextText = true;
                else TrimBlockNewline();
                return;
            }

            search = open + 2;
        }
    }

    private static string LstripRawTail(string body)
    {
        int i = body.Length;
        while (i > 0 && body[i - 1] is ' ' or '\t') i--;
        return i == 0 || body[i - 1] == '\n' ? body[..i] : body;
    }

    /// <summary>Reads expression tokens up to the closing delimiter; returns whether it carried '-'.</summary>
    private bool LexExpression(char closer)
    {
        int depth = 0;
        while (true)
        {
            while (_pos < source.Length && char.IsWhiteSpace(source[_pos]))
            {
                if (source[_pos] == '\n') _line++;
                _pos++;
            }

            if (_pos >= source.Length) throw Error(closer == '%' ? "a block tag is never closed with '%}'" : "an expression is never closed with '}}'");
            char c = source[_pos];
            if (depth == 0 || closer == '%')
            {
                if (c == '-' && Peek(1) == closer && Peek(2) == '}')
                {
                    _pos += 3;
                    return true;
                }

                if (c == closer && Peek(1) == '}' && (closer == '%' || depth == 0))
                {
                    _pos += 2;
                    return false;
                }
            }

            if (char.IsLetter(c) || c == '_')
            {
                int start = _pos;
                while (_pos < source.Length && (char.IsLetterOrDigit(source[_pos]) || source[_pos] == '_')) _pos++;
                _tokens.Add(new Token(TokenKind.Name, source[start.._pos], _line));
                continue;
            }

            if (char.IsDigit(c))
            {
                LexNumber();
                continue;
            }

            if (c is '"' or '\'')
            {
                _tokens.Add(new Token(TokenKind.String, LexString(c), _line));
                continue;
            }

            string? op = null;
            foreach (var o in Operators)
            {
                if (string.CompareOrdinal(source, _pos, o, 0, o.Length) == 0)
                {
                    op = o;
                    break;
                }
            }

            if (op is null) throw Error($"unexpected character '{c}'");
            if (op is "(" or "[" or "{") depth++;
            else if (op is ")" or "]" or "}") depth--;
            _pos += op.Length;
            _tokens.Add(new Token(TokenKind.Operator, op, _line));
        }
    }

    private char Peek(int offset) => _pos + offset < source.Length ? source[_pos + offset] : '\0';

    private void LexNumber()
    {
        int start = _pos;
        while (_pos < source.Length && (char.IsDigit(source[_pos]) || source[_pos] == '_')) _pos++;
        bool isFloat = false;
        if (Peek(0) == '.' && char.IsDigit(Peek(1)))
        {
            isFloat = true;
            _pos++;
            while (_pos < source.Length && (char.IsDigit(source[_pos]) || source[_pos] == '_')) _pos++;
        }

        if (Peek(0) is 'e' or 'E' && (char.IsDigit(Peek(1)) || (Peek(1) is '+' or '-' && char.IsDigit(Peek(2)))))
        {
            isFloat = true;
            _pos += 2;
            while (_pos < source.Length && char.IsDigit(source[_pos])) _pos++;
        }

        string text = source[start.._pos].Replace("_", "");
        _tokens.Add(isFloat
            ? new Token(TokenKind.Float, text, _line, double.Parse(text, CultureInfo.InvariantCulture))
            : new Token(TokenKind.Integer, text, _line, long.Parse(text, CultureInfo.InvariantCulture)));
    }

    /// <summary>A Python string literal body with its escapes.</summary>
    private string LexString(char quote)
    {
        var sb = new StringBuilder();
        _pos++;
        while (true)
        {
            if (_pos >= source.Length) throw Error("a string literal is never closed");
            char c = source[_pos++];
            if (c == quote) return sb.ToString();
            if (c == '\n') _line++;
            if (c != '\\' || _pos >= source.Length)
            {
                sb.Append(c);
                continue;
            }

            char e = source[_pos++];
            switch (e)
            {
                case 'n': sb.Append('\n'); break;
                case 't': sb.Append('\t'); break;
                case 'r': sb.Append('\r'); break;
                case '\\': sb.Append('\\'); break;
                case '\'': sb.Append('\''); break;
                case '"': sb.Append('"'); break;
                case '0': sb.Append('\0'); break;
                case 'u' when _pos + 4 <= source.Length:
                    sb.Append((char)Convert.ToInt32(source.Substring(_pos, 4), 16));
                    _pos += 4;
                    break;
                case 'x' when _pos + 2 <= source.Length:
                    sb.Append((char)Convert.ToInt32(source.Substring(_pos, 2), 16));
                    _pos += 2;
                    break;
                case '\n': _line++; break;
                default: sb.Append('\\').Append(e); break;
            }
        }
    }
}
