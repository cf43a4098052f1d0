"""Words the catalogue is written with: per category, product kinds with a typical price,
brands, qualities and variants, so titles and descriptions read like a real shop's and
products of the same kind land near each other in a text embedding."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CATEGORIES", "MERCHANT_WORDS", "CategoryVocabulary"]


@dataclass(frozen=True)
class CategoryVocabulary:
    """How one category's products are named and priced."""

    name: str
    kinds: tuple[tuple[str, float], ...]
    """(product kind, typical price in major units)."""
    brands: tuple[str, ...]
    qualities: tuple[str, ...]
    variants: tuple[str, ...]
    uses: tuple[str, ...]
    fee_rate: float
    """Typical merchant fee for a pay-later order in this category."""


CATEGORIES: tuple[CategoryVocabulary, ...] = (
    CategoryVocabulary(
        "electronics",
        (
            ("Wireless Headphones", 129),
            ("Bluetooth Speaker", 79),
            ("Laptop", 899),
            ("Tablet", 429),
            ("Smartwatch", 249),
            ("Phone Case", 19),
            ("USB-C Charging Cable", 12),
            ("Power Bank", 39),
            ("4K Monitor", 329),
            ("Mechanical Keyboard", 99),
            ("Wireless Mouse", 29),
            ("Action Camera", 279),
        ),
        ("Lumera", "Voltix", "Nordtek", "Arclight", "Sonique", "Pixelon", "Quanta"),
        ("Noise-Cancelling", "Ultra-Slim", "Fast-Charging", "Waterproof", "Compact", "Pro", "Long-Battery"),
        ("Midnight Black", "Silver", "Space Grey", "Arctic White", "Navy Blue", "2nd Gen"),
        ("commuting and travel", "working from home", "gaming and streaming", "everyday use"),
        0.035,
    ),
    CategoryVocabulary(
        "fashion",
        (
            ("Denim Jacket", 79),
            ("Cotton T-Shirt", 19),
            ("Wool Sweater", 69),
            ("Summer Dress", 55),
            ("Slim-Fit Chinos", 49),
            ("Rain Coat", 119),
            ("Silk Scarf", 35),
            ("Leather Belt", 29),
            ("Hoodie", 45),
            ("Linen Shirt", 39),
        ),
        ("Marlow & Co", "Urbanthread", "Kestrel", "Aldine", "Northcoast", "Velvetine"),
        ("Organic", "Relaxed-Fit", "Classic", "Lightweight", "Tailored", "Vintage-Wash"),
        ("Size S", "Size M", "Size L", "Charcoal", "Olive", "Ecru", "Burgundy"),
        ("weekend outings", "the office", "layering in cold weather", "summer evenings"),
        0.055,
    ),
    CategoryVocabulary(
        "shoes",
        (
            ("Running Shoes", 110),
            ("Leather Boots", 149),
            ("Canvas Sneakers", 59),
            ("Sandals", 39),
            ("Hiking Boots", 139),
            ("Loafers", 89),
            ("Slippers", 25),
            ("Trail Runners", 125),
        ),
        ("Stridewell", "Peakform", "Cobbleton", "Airloom", "Terrafoot"),
        ("Cushioned", "Breathable", "Waterproof", "Handmade", "Lightweight", "Wide-Fit"),
        ("EU 38", "EU 40", "EU 42", "EU 44", "Black", "Tan", "White"),
        ("long runs", "city walking", "mountain trails", "everyday comfort"),
        0.05,
    ),
    CategoryVocabulary(
        "beauty",
        (
            ("Face Serum", 34),
            ("Moisturizing Cream", 24),
            ("Lip Balm", 5),
            ("Eau de Parfum", 89),
            ("Hair Dryer", 79),
            ("Shampoo", 12),
            ("Sunscreen SPF 50", 18),
            ("Makeup Brush Set", 29),
            ("Nail Polish", 8),
            ("Electric Toothbrush", 59),
        ),
        ("Glowra", "Maison Lys", "Purelab", "Verdance", "Solis"),
        ("Hydrating", "Fragrance-Free", "Vegan", "Dermatologist-Tested", "Travel-Size", "Brightening"),
        ("30 ml", "50 ml", "100 ml", "Rose", "Citrus", "Unscented"),
        ("dry skin", "a daily routine", "sensitive skin", "an evening out"),
        0.045,
    ),
    CategoryVocabulary(
        "home",
        (
            ("Scented Candle", 22),
            ("Cotton Bed Sheets", 69),
            ("Coffee Maker", 119),
            ("Cookware Set", 149),
            ("Throw Blanket", 45),
            ("Table Lamp", 59),
            ("Robot Vacuum", 299),
            ("Air Purifier", 189),
            ("Kitchen Knife", 49),
            ("Bath Towel Set", 39),
        ),
        ("Hearthly", "Casa Nova", "Linden", "Oakhaven", "Brightnest"),
        ("Non-Stick", "Energy-Saving", "Hand-Woven", "Stainless Steel", "Smart", "Minimalist"),
        ("Queen", "King", "Sage Green", "Sand", "Graphite", "Set of 2"),
        ("a cosy living room", "busy kitchens", "small apartments", "guest rooms"),
        0.045,
    ),
    CategoryVocabulary(
        "furniture",
        (
            ("Sofa", 899),
            ("Office Chair", 249),
            ("Dining Table", 549),
            ("Bookshelf", 149),
            ("Bed Frame", 449),
            ("Standing Desk", 399),
            ("Armchair", 329),
            ("Coffee Table", 189),
        ),
        ("Nordhus", "Timberline", "Loft & Grain", "Stillwood", "Havn"),
        ("Solid Oak", "Ergonomic", "Mid-Century", "Modular", "Velvet", "Height-Adjustable"),
        ("Walnut", "Natural Oak", "Charcoal Fabric", "Cream", "3-Seater", "Compact"),
        ("open-plan living", "the home office", "family dinners", "reading corners"),
        0.04,
    ),
    CategoryVocabulary(
        "sports",
        (
            ("Yoga Mat", 35),
            ("Dumbbell Set", 89),
            ("Road Bike Helmet", 79),
            ("Tennis Racket", 129),
            ("Camping Tent", 199),
            ("Fitness Tracker", 99),
            ("Water Bottle", 15),
            ("Resistance Bands", 19),
            ("Sleeping Bag", 89),
        ),
        ("Summitline", "Kinetiq", "Fjellborn", "Pacer", "Trailhead"),
        ("Non-Slip", "Ultralight", "Insulated", "Adjustable", "Pro-Grade", "Packable"),
        ("Blue", "Black", "Orange", "2-Person", "10 kg", "Medium"),
        ("home workouts", "weekend camping", "the gym", "long rides"),
        0.05,
    ),
    CategoryVocabulary(
        "toys",
        (
            ("Building Blocks Set", 49),
            ("Plush Bear", 19),
            ("Board Game", 35),
            ("Remote-Control Car", 59),
            ("Jigsaw Puzzle", 18),
            ("Doll House", 89),
            ("Science Kit", 39),
            ("Wooden Train Set", 45),
        ),
        ("Playwise", "Tinkertown", "Little Oak", "Brightblock", "Funfoundry"),
        ("Educational", "Eco-Friendly", "Award-Winning", "Classic", "Interactive", "Deluxe"),
        ("Ages 3+", "Ages 6+", "Ages 8+", "1000 Pieces", "Family Edition"),
        ("rainy afternoons", "family game night", "curious minds", "birthday gifts"),
        0.05,
    ),
    CategoryVocabulary(
        "books",
        (
            ("Paperback Novel", 15),
            ("Hardcover Cookbook", 32),
            ("Children's Picture Book", 12),
            ("Travel Guide", 22),
            ("Graphic Novel", 19),
            ("Self-Help Book", 17),
            ("History Book", 28),
        ),
        ("Larkspur Press", "Inkwell House", "Meridian Books", "Fablecraft", "Quillmark"),
        ("Bestselling", "Illustrated", "Annotated", "Collector's", "Updated", "Pocket"),
        ("First Edition", "Paperback", "Hardcover", "Large Print", "Boxed Set"),
        ("a long weekend", "curious cooks", "bedtime reading", "planning a trip"),
        0.03,
    ),
    CategoryVocabulary(
        "grocery",
        (
            ("Ground Coffee", 11),
            ("Green Tea", 7),
            ("Olive Oil", 14),
            ("Dark Chocolate", 4),
            ("Protein Bars", 19),
            ("Granola", 6),
            ("Pasta Sauce", 5),
            ("Spice Set", 24),
        ),
        ("Harvest Table", "Goodgrain", "Sol y Mar", "Fieldstone", "Pantry Co"),
        ("Organic", "Fair-Trade", "Single-Origin", "Gluten-Free", "Family-Size", "Cold-Pressed"),
        ("250 g", "500 g", "1 kg", "Pack of 6", "Pack of 12"),
        ("quick breakfasts", "weeknight dinners", "healthy snacking", "gift baskets"),
        0.025,
    ),
    CategoryVocabulary(
        "jewelry",
        (
            ("Gold Necklace", 349),
            ("Silver Ring", 89),
            ("Diamond Earrings", 899),
            ("Charm Bracelet", 129),
            ("Automatic Watch", 649),
            ("Pearl Pendant", 229),
            ("Cufflinks", 79),
        ),
        ("Aurelle", "Vantage", "Bellmont", "Solenne", "Oro Fino"),
        ("18k Gold", "Sterling Silver", "Handcrafted", "Engraved", "Vintage", "Minimalist"),
        ("Rose Gold", "White Gold", "Size 7", "45 cm", "Gift Boxed"),
        ("anniversaries", "everyday elegance", "weddings", "a special gift"),
        0.05,
    ),
    CategoryVocabulary(
        "gaming",
        (
            ("Game Console", 499),
            ("Wireless Controller", 69),
            ("Gaming Headset", 99),
            ("Video Game", 59),
            ("Gaming Chair", 279),
            ("VR Headset", 449),
            ("Gift Card", 50),
            ("Capture Card", 149),
        ),
        ("Nexplay", "Raidforge", "Pixelstorm", "Arcadia", "Hyperloop"),
        ("Next-Gen", "Low-Latency", "RGB", "Limited Edition", "Ergonomic", "Wireless"),
        ("1 TB", "Black Edition", "White", "Digital Code", "Bundle"),
        ("competitive play", "streaming", "couch co-op", "long sessions"),
        0.035,
    ),
)
"""The marketplace's categories, in a fixed order (their index is the category code)."""

MERCHANT_WORDS: tuple[tuple[str, ...], tuple[str, ...]] = (
    (
        "Northwind",
        "Bluebird",
        "Copper",
        "Maple",
        "Harbor",
        "Summit",
        "Riverstone",
        "Golden",
        "Urban",
        "Evergreen",
        "Silverline",
        "Brightside",
        "Oak Street",
        "Sunset",
        "Redwood",
        "Cedar",
        "Atlas",
        "Nova",
        "Pioneer",
        "Lakeside",
    ),
    ("Store", "Outlet", "Market", "Shop", "Depot", "Supply", "Emporium", "Collective", "House", "Co"),
)
"""First and last words of merchant names; the category is added between them."""
