"""The small functions the training task family is made of: each a module of its own, with inputs to test it on.

Every entry is the correct source of one module and the argument tuples its
tests call it with. `train.taskgen` plants one bug per task in a copy of these
(an operator or a bound changed on one line), so each task is a single-file,
single-line fix whose tests the generator derives by running both versions.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, eq=False)  # inputs hold lists; each function is one object
class Function:
    module: str
    name: str
    source: str
    inputs: tuple[tuple, ...]


def _f(module: str, name: str, source: str, *inputs: tuple) -> Function:
    return Function(module, name, source.strip("\n") + "\n", tuple(inputs))


FUNCTIONS: tuple[Function, ...] = (
    _f(
        "clamp",
        "clamp",
        '''
def clamp(x, lo, hi):
    """x limited to the range [lo, hi]."""
    if x < lo:
        return lo
    if x > hi:
        return hi
    return x
''',
        (5, 0, 10),
        (-3, 0, 10),
        (12, 0, 10),
        (0, 0, 10),
        (10, 0, 10),
    ),
    _f(
        "vowels",
        "count_vowels",
        '''
def count_vowels(text):
    """How many vowels (a, e, i, o, u) `text` holds, in either case."""
    count = 0
    for char in text.lower():
        if char in "aeiou":
            count = count + 1
    return count
''',
        ("hello",),
        ("AEIOU",),
        ("xyz",),
        ("",),
        ("Banana",),
    ),
    _f(
        "leap",
        "is_leap_year",
        '''
def is_leap_year(year):
    """True for leap years of the Gregorian calendar."""
    if year % 400 == 0:
        return True
    if year % 100 == 0:
        return False
    return year % 4 == 0
''',
        (2000,),
        (1900,),
        (2024,),
        (2023,),
        (2400,),
        (2100,),
    ),
    _f(
        "series",
        "sum_to",
        '''
def sum_to(n):
    """1 + 2 + ... + n (0 when n is below 1)."""
    total = 0
    for k in range(1, n + 1):
        total = total + k
    return total
''',
        (0,),
        (1,),
        (4,),
        (10,),
        (-2,),
    ),
    _f(
        "factorial",
        "factorial",
        '''
def factorial(n):
    """n! for n >= 0."""
    result = 1
    for k in range(2, n + 1):
        result = result * k
    return result
''',
        (0,),
        (1,),
        (3,),
        (5,),
        (6,),
    ),
    _f(
        "gaps",
        "max_gap",
        '''
def max_gap(values):
    """The largest difference between two neighbours of `values` (0 for fewer than two)."""
    best = 0
    for i in range(1, len(values)):
        gap = abs(values[i] - values[i - 1])
        if gap > best:
            best = gap
    return best
''',
        ([1, 5, 6],),
        ([3],),
        ([],),
        ([10, 2, 4],),
        ([1, 1, 1],),
    ),
    _f(
        "percent",
        "percent",
        '''
def percent(part, whole):
    """`part` as a percentage of `whole`, rounded to one decimal (0.0 when whole is 0)."""
    if whole == 0:
        return 0.0
    return round(100 * part / whole, 1)
''',
        (1, 4),
        (3, 3),
        (0, 5),
        (2, 0),
        (1, 3),
    ),
    _f(
        "tail",
        "last_n",
        '''
def last_n(items, n):
    """The last `n` items of a list (an empty list when n <= 0)."""
    if n <= 0:
        return []
    return items[-n:]
''',
        ([1, 2, 3], 2),
        ([1, 2, 3], 0),
        ([1, 2, 3], 5),
        ([], 1),
        ([4, 5], 1),
    ),
    _f(
        "words",
        "count_words",
        '''
def count_words(text):
    """How many words (runs of non-space characters) `text` holds."""
    count = 0
    in_word = False
    for char in text:
        if char.isspace():
            in_word = False
        elif not in_word:
            in_word = True
            count = count + 1
    return count
''',
        ("hello world",),
        ("  a  b ",),
        ("",),
        ("one",),
        ("x y z",),
    ),
    _f(
        "palindrome",
        "is_palindrome",
        '''
def is_palindrome(text):
    """True when `text` reads the same backwards, ignoring case."""
    text = text.lower()
    left, right = 0, len(text) - 1
    while left < right:
        if text[left] != text[right]:
            return False
        left, right = left + 1, right - 1
    return True
''',
        ("Level",),
        ("abc",),
        ("",),
        ("ab",),
        ("abba",),
    ),
    _f(
        "median",
        "median",
        '''
def median(values):
    """The middle value of a non-empty list (the mean of the two middle ones for an even length)."""
    ordered = sorted(values)
    mid = len(ordered) // 2
    if len(ordered) % 2 == 1:
        return ordered[mid]
    return (ordered[mid - 1] + ordered[mid]) / 2
''',
        ([3, 1, 2],),
        ([4, 1, 3, 2],),
        ([7],),
        ([5, 5],),
        ([9, 1, 8, 2, 7],),
    ),
    _f(
        "bounds",
        "between",
        '''
def between(x, lo, hi):
    """True when lo <= x <= hi."""
    return lo <= x and x <= hi
''',
        (5, 1, 9),
        (1, 1, 9),
        (9, 1, 9),
        (0, 1, 9),
        (10, 1, 9),
    ),
    _f(
        "search",
        "first_index",
        '''
def first_index(items, target):
    """The index of the first item equal to `target`, or -1."""
    for i in range(len(items)):
        if items[i] == target:
            return i
    return -1
''',
        ([4, 5, 6], 5),
        ([4, 5, 6], 7),
        ([], 1),
        ([1, 1], 1),
        ([2, 3], 3),
    ),
    _f(
        "grades",
        "letter_grade",
        '''
def letter_grade(score):
    """A for 90 and above, B for 80 and above, C for 70 and above, else F."""
    if score >= 90:
        return "A"
    if score >= 80:
        return "B"
    if score >= 70:
        return "C"
    return "F"
''',
        (95,),
        (90,),
        (80,),
        (70,),
        (69,),
        (85,),
    ),
    _f(
        "division",
        "safe_div",
        '''
def safe_div(a, b):
    """a / b, or None when b is 0."""
    if b == 0:
        return None
    return a / b
''',
        (6, 3),
        (1, 0),
        (0, 5),
        (7, 2),
    ),
    _f(
        "powers",
        "is_power_of_two",
        '''
def is_power_of_two(n):
    """True for 1, 2, 4, 8, ...; False for 0 and negative numbers."""
    if n < 1:
        return False
    while n % 2 == 0:
        n = n // 2
    return n == 1
''',
        (1,),
        (8,),
        (6,),
        (0,),
        (-4,),
        (1024,),
    ),
    _f(
        "temperature",
        "celsius_to_fahrenheit",
        '''
def celsius_to_fahrenheit(celsius):
    """Degrees Celsius in Fahrenheit."""
    return celsius * 9 / 5 + 32
''',
        (0,),
        (100,),
        (-40,),
        (37,),
    ),
    _f(
        "digits",
        "digit_sum",
        '''
def digit_sum(n):
    """The sum of the decimal digits of abs(n)."""
    n = abs(n)
    total = 0
    while n > 0:
        total = total + n % 10
        n = n // 10
    return total
''',
        (0,),
        (123,),
        (-45,),
        (9,),
        (1001,),
    ),
    _f(
        "average",
        "average",
        '''
def average(values):
    """The arithmetic mean of `values` (0.0 for an empty list)."""
    if len(values) == 0:
        return 0.0
    return sum(values) / len(values)
''',
        ([1, 2, 3],),
        ([],),
        ([4],),
        ([2, 4],),
    ),
    _f(
        "positives",
        "count_positive",
        '''
def count_positive(values):
    """How many of `values` are greater than 0."""
    count = 0
    for value in values:
        if value > 0:
            count = count + 1
    return count
''',
        ([1, -2, 3],),
        ([0, 0],),
        ([],),
        ([5],),
        ([-1, 2, 0, 4],),
    ),
    _f(
        "running",
        "running_total",
        '''
def running_total(values):
    """The list of partial sums of `values`."""
    totals = []
    total = 0
    for value in values:
        total = total + value
        totals.append(total)
    return totals
''',
        ([1, 2, 3],),
        ([],),
        ([5],),
        ([2, -2, 2],),
    ),
    _f(
        "rangecount",
        "count_in_range",
        '''
def count_in_range(values, lo, hi):
    """How many of `values` lie in [lo, hi)."""
    count = 0
    for value in values:
        if value >= lo and value < hi:
            count = count + 1
    return count
''',
        ([1, 2, 3, 4], 2, 4),
        ([], 0, 1),
        ([5, 5], 5, 6),
        ([0, 9], 1, 9),
    ),
    _f(
        "repeat",
        "repeat_text",
        '''
def repeat_text(text, times, separator):
    """`text` written `times` times, joined by `separator` (empty for times <= 0)."""
    if times <= 0:
        return ""
    return separator.join([text] * times)
''',
        ("ab", 3, "-"),
        ("x", 0, ","),
        ("y", 1, ","),
        ("z", 2, ""),
    ),
    _f(
        "sign",
        "sign",
        '''
def sign(x):
    """-1, 0 or 1 as x is negative, zero or positive."""
    if x > 0:
        return 1
    if x < 0:
        return -1
    return 0
''',
        (5,),
        (-2,),
        (0,),
        (1,),
        (-1,),
    ),
)
