{{ config(materialized='incremental', incremental_strategy='merge', unique_key='book_id') }}

select book_id, author_id, title, pages, price, loaded_at
from {{ ref('stg_books') }}
{% if is_incremental() %}
where loaded_at > (select max(loaded_at) from {{ this }})
{% endif %}
